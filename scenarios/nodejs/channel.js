'use strict';
// Echoes every message of its IPC channel (RoundTrip/transport=channel/runtime=node).
process.on('message', (m) => process.send(m));
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
