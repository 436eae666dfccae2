'use strict';
// node:events for undici's Fetch classes inside the isolate: AbortSignal listener bookkeeping is a no-op.
class EventEmitter {}
module.exports = {
  EventEmitter,
  defaultMaxListeners: 10,
  getMaxListeners: () => 0,
  setMaxListeners: () => {},
};
