/**
 * Makes a script evaluated by indirect eval share its top-level declarations the way classic
 * scripts do (see exposeLexicals). Used by the Spillway column, whose handler loads the test's
 * scripts with indirect eval inside an invocation.
 */
import { parse, type Node as AcornNode } from 'acorn';

interface Pattern extends AcornNode {
  name?: string;
  id?: Pattern | null;
  left?: Pattern;
  argument?: Pattern;
  value?: Pattern;
  elements?: Array<Pattern | null>;
  properties?: Pattern[];
  declarations?: Array<{ id: Pattern }>;
  kind?: string;
}

function bindingNames(node: Pattern | null | undefined, out: string[]): void {
  if (!node) return;
  if (node.type === 'Identifier') out.push(node.name!);
  else if (node.type === 'ObjectPattern') for (const p of node.properties ?? []) bindingNames(p.type === 'RestElement' ? p.argument : p.value, out);
  else if (node.type === 'ArrayPattern') for (const e of node.elements ?? []) bindingNames(e, out);
  else if (node.type === 'RestElement') bindingNames(node.argument, out);
  else if (node.type === 'AssignmentPattern') bindingNames(node.left, out);
}

/**
 * Classic scripts share one global scope: a `const` or (in a strict script) a function at the top
 * of a META script is visible to the test file. Code run by indirect eval keeps its
 * `let`/`const`/`class`, and strict code also its `var`s and functions, to itself,
 * so for the Spillway column each script ends with accessors that expose its top-level lexical
 * bindings on the global (live, and assigning to a `const` still throws). Node's column runs real
 * scripts (vm.runInThisContext) and needs none of this.
 */
export function exposeLexicals(source: string): string {
  let body: Pattern[];
  try {
    body = (parse(source, { ecmaVersion: 'latest', sourceType: 'script', allowHashBang: true }) as unknown as { body: Pattern[] }).body;
  } catch {
    return source; // the eval reports the syntax error
  }
  // Strict eval code also keeps its `var`s and functions to itself; sloppy eval code puts them on
  // the global already (and an accessor there would read itself).
  let strict = false;
  for (const node of body) {
    const directive = (node as { directive?: string }).directive;
    if (directive === undefined) break;
    if (directive === 'use strict') strict = true;
  }
  const names: string[] = [];
  for (const node of body) {
    if (node.type === 'VariableDeclaration' && (node.kind !== 'var' || strict)) for (const d of node.declarations ?? []) bindingNames(d.id, names);
    else if (node.type === 'ClassDeclaration' || (strict && node.type === 'FunctionDeclaration')) bindingNames(node.id, names);
  }
  if (names.length === 0) return source;
  const accessors = names.map((n) => `Object.defineProperty(globalThis, ${JSON.stringify(n)}, { get() { return ${n}; }, set(value__) { ${n} = value__; }, configurable: true });`);
  return `${source}\n;${accessors.join('\n')}`;
}
