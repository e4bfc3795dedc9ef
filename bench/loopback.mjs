// Preloaded into the Portkey gateway (node --import ./loopback.mjs ...): its start script calls
// serve({fetch, port}) with no hostname, which would listen on every interface. This forces any
// TCP listen onto 127.0.0.1 so the benchmark never opens a non-loopback socket.
import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number') {
    const cb = typeof args[args.length - 1] === 'function' ? args[args.length - 1] : undefined;
    return listen.call(this, { port: args[0], host: '127.0.0.1' }, cb);
  }
  if (args[0] && typeof args[0] === 'object' && args[0].port !== undefined) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
