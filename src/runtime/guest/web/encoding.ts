/**
 * TextEncoder, TextDecoder, TextEncoderStream and TextDecoderStream from @exodus/bytes: a
 * maintained implementation of the Encoding standard with every encoding and label (single-byte
 * tables and the CJK multi-byte decoders), fatal/ignoreBOM, streaming decode and encodeInto,
 * tested upstream against WPT; jsdom's whatwg-encoding and whatwg-url use it. Loaded lazily by
 * core.ts. The stream forms need the global TransformStream, which core.ts installs first.
 */
export { TextDecoder, TextDecoderStream, TextEncoder, TextEncoderStream } from '@exodus/bytes/encoding.js';
