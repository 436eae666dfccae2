/**
 * The Streams standard from web-streams-polyfill (v4, the ponyfill build: nothing is patched
 * onto globals by the library itself). It is derived from the WHATWG reference implementation
 * and runs the streams WPT suite upstream. Evaluated eagerly: Response bodies are streams.
 */
export {
  ByteLengthQueuingStrategy,
  CountQueuingStrategy,
  ReadableByteStreamController,
  ReadableStream,
  ReadableStreamBYOBReader,
  ReadableStreamBYOBRequest,
  ReadableStreamDefaultController,
  ReadableStreamDefaultReader,
  TransformStream,
  TransformStreamDefaultController,
  WritableStream,
  WritableStreamDefaultController,
  WritableStreamDefaultWriter,
} from 'web-streams-polyfill';
