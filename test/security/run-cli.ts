/**
 * The `ccproxy` command run from source (what bin/ccproxy.js runs from dist/), so tests can spawn
 * the real CLI without a build: `node --import tsx test/security/run-cli.ts serve --host 0.0.0.0`.
 */
import { main } from '../../src/cli/main.ts';

await main(process.argv);
