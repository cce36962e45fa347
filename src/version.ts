/** trtpipe's version (as package.json's): run records, `--version`, and the runner protocol's handshake carry it. */
export const VERSION = '0.1.0';
