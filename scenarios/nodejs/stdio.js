'use strict';
// Echoes the bytes of its fd 4, an extra stdio 'pipe' of fork()
// (RoundTrip/transport=unix/api=stdio/runtime=node).
const net = require('net');
const s = new net.Socket({ fd: 4, readable: true, writable: true });
s.on('data', (d) => s.write(d));
s.on('error', (e) => { process.stderr.write(`stdio echo worker: ${e.message}\n`); process.exit(1); });
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
