export { type Reply, requestJson, requestStream, UnreachableError } from './client.js';
export { statusFor } from './http-util.js';
export { type ControlServer, createControlHandler, serveControl, socketAnswers } from './server.js';
export { coreSpecParsers } from './specs.js';
export type * from './types.js';
