// Where things are in a faassctl image (faassctl-image(1)): one place for the builder
// (context.ts, dockerfile.ts) and the program in the image (serve.ts).

// Probes of the image's own: under /_/, which OpenFaaS's watchdog keeps for itself too. A
// function's own paths under /_/health and /_/ready are not reachable in the image (it is
// called at /PATH, as at /function/NAME/PATH on the host); every other path is the function's.
export const HEALTH_PATH = '/_/health';
export const READY_PATH = '/_/ready';

// faass's runtime: dist/ and the node_modules the runner needs.
export const APP_DIR = '/opt/faass/app';
// $XDG_CONFIG_HOME and $XDG_DATA_HOME in the image: the function's file, faass.conf (the few
// settings a call meets) and its code, where the runner reads them on a host.
export const CONFIG_HOME = '/opt/faass/config';
export const DATA_HOME = '/opt/faass/data';
// A container function's ENTRYPOINT and CMD as one command line, when it has no command=.
export const IMAGE_COMMAND_ENV = 'FAASS_IMAGE_COMMAND';
// Not root, and a uid no base image gives to anyone else (distroless's "nonroot").
export const IMAGE_USER = '65532:65532';
// A container function's image gets node here, with every shared library it loaded, run through
// the dynamic loader copied with them: the function's image needs no node and no matching libc.
export const NODE_DIR = '/opt/faass/node';
// The program the image runs.
export const SERVE_JS = `${APP_DIR}/dist/image/serve.js`;
