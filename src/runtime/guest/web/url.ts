/**
 * URL and URLSearchParams from whatwg-url, the URL Standard's reference implementation (by its
 * editors; the jsdom project keeps it current, with tr46 for IDNA/UTS #46). Loaded lazily by
 * core.ts: tr46's mapping table is most of the guest's size and most functions never touch URL.
 */
export { URL, URLSearchParams } from 'whatwg-url';
