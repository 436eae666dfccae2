'use strict';
// Node built-ins that only undici's HTTP client uses; its Fetch classes never reach them.
module.exports = {};
