'use strict';
// A net echo server on the address its parent sends: an abstract unix
// socket (no file) or 127.0.0.1 (RoundTrip/transport=unix|tcp/api=net/runtime=node).
const net = require('net');
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  if (!m || !m.listen) return;
  const srv = net.createServer((c) => {
    c.setNoDelay(true); // TCP_NODELAY, as ipcbench's tcp transport (no-op on unix)
    c.on('data', (d) => c.write(d));
    c.on('error', () => {});
  });
  srv.on('error', (e) => process.send({ error: e.message }));
  srv.listen(m.listen, () => process.send({ port: srv.address().port || 0 }));
});
process.send({ type: 'ready' });
