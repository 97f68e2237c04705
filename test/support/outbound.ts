// The local stand-ins of the clouds (test/support/fake-clouds, moto, the testbed registry) listen on
// loopback, and their token files live under the system's temporary directory: what an operator would
// allow with the daemon's outbound flags (docs/security.md). Provider tests pass LOCAL_OUTBOUND; daemons
// started by startTestDaemon get LOCAL_OUTBOUND_ARGS unless the test gives its own.
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { OutboundPolicy } from '../../src/util/outbound.ts';

const hosts = ['127.0.0.1', 'localhost'];
const files = [realpathSync(tmpdir())];

export const LOCAL_OUTBOUND = new OutboundPolicy({ hosts, files });

export const LOCAL_OUTBOUND_ARGS = [`--outbound-hosts=${hosts.join(',')}`, `--outbound-files=${files.join(',')}`];
