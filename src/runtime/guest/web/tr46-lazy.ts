/**
 * What whatwg-url gets when it imports tr46 (the redirect is an esbuild plugin, see
 * src/runtime/guest-web-build.ts): UTS #46 processing that loads tr46 and its ~150 KB mapping
 * table only for a host that needs it. For the options the URL parser uses and a host that is
 * all ASCII with no `xn--` label, UTS #46 maps A-Z to a-z and accepts every other ASCII code
 * point (each is "valid" in the table, checked when this was written; url/toascii.json and
 * IdnaTestV2 in WPT cover it), so the answer is the host lowercased. Anything else goes to tr46.
 */
declare const require: (id: string) => unknown;

interface Tr46Options {
  checkHyphens?: boolean;
  checkBidi?: boolean;
  checkJoiners?: boolean;
  useSTD3ASCIIRules?: boolean;
  verifyDNSLength?: boolean;
  transitionalProcessing?: boolean;
  ignoreInvalidPunycode?: boolean;
}

interface Tr46 {
  toASCII(domain: string, options?: Tr46Options): string | null;
  toUnicode(domain: string, options?: Tr46Options): { domain: string; error: boolean };
}

let real: Tr46 | null = null;
const tr46 = (): Tr46 => (real ??= require('tr46') as Tr46);

const ASCII = /^[\x00-\x7f]*$/;

export function toASCII(domain: string, options: Tr46Options = {}): string | null {
  if (!options.checkHyphens && !options.useSTD3ASCIIRules && !options.verifyDNSLength && !options.transitionalProcessing && ASCII.test(domain)) {
    const lower = domain.toLowerCase();
    if (!lower.split('.').some((label) => label.startsWith('xn--'))) return lower;
  }
  return tr46().toASCII(domain, options);
}

export function toUnicode(domain: string, options?: Tr46Options): { domain: string; error: boolean } {
  return tr46().toUnicode(domain, options);
}
