// Seed 001's style: a plain function. Executions pass input as arguments:
// [2, 3] spreads, {"a": 2, "b": 3} maps by parameter name.
function add(a: number, b: number): number {
  return a + b;
}
