'use strict';
// undici/lib/core/tree.js builds, when it loads, a search tree of ~100 well-known header names so
// its HTTP client can turn header-name bytes into strings without allocating. The Fetch classes
// reach it only through the multipart parser, where a miss falls back to lower-casing the bytes,
// which gives the same string. Building the tree cost more than the rest of undici's start-up in
// the isolate, so it is left out.
module.exports = {
  tree: {
    lookup() {
      return undefined;
    },
  },
};
