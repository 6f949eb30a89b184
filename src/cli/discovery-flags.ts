/**
 * Flags of discovery and HA that `SERVE_FLAGS` does not already declare (it has `--pool-name`,
 * `--pool-namespace`, `--pool-group`, `--endpoint-selector`, `--endpoint-target-ports`,
 * `--ha-enable-leader-election`). Spread into `SERVE_FLAGS`.
 */
import type { FlagSpec } from './flags.js';

export const DISCOVERY_FLAGS: FlagSpec[] = [
  { name: 'endpoints-file', type: 'string', default: '', help: 'YAML/JSON file listing endpoints, reloaded when it changes (no Kubernetes)' },
  { name: 'kubeconfig', type: 'string', default: '', help: 'kubeconfig file (default: $KUBECONFIG, in-cluster service account, ~/.kube/config)' },
  { name: 'ha-lease-name', type: 'string', default: '', help: 'Lease used for leader election (default switchboard-<pool-name>)' },
  { name: 'ha-lease-duration', type: 'duration', default: 15_000, help: 'how long standbys wait on an unrenewed lease before taking it' },
  { name: 'ha-renew-deadline', type: 'duration', default: 10_000, help: 'how long the leader keeps trying to renew before it steps down' },
  { name: 'ha-retry-period', type: 'duration', default: 2_000, help: 'interval between lease renewals and acquisition attempts' },
];
