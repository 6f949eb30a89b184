/**
 * deploy/envoy/envoy.yaml says what Switchboard expects from Envoy; this pins it to the code's
 * own constants (no Envoy binary runs here, so the file is checked as data).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXT_PROC_SERVICE } from '../../src/frontends/extproc/codec.js';
import { READINESS_SERVICES } from '../../src/frontends/health/health-service.js';
import { DESTINATION_ENDPOINT, DESTINATION_NAMESPACE, SUBSET_NAMESPACE } from '../../src/request/headers.js';

const text = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../deploy/envoy/envoy.yaml'), 'utf8');
// Checked as untyped data: the assertions say which shape is expected.
const config = parse(text) as any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('deploy/envoy/envoy.yaml', () => {
  const hcm = config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  const extProc = hcm.http_filters.find((f: { name: string }) => f.name === 'envoy.filters.http.ext_proc').typed_config;
  const cluster = (name: string) => config.static_resources.clusters.find((c: { name: string }) => c.name === name);

  it('streams both directions full-duplex with trailers SEND (Envoy rejects FULL_DUPLEX without it)', () => {
    expect(extProc.processing_mode).toEqual({
      request_header_mode: 'SEND',
      response_header_mode: 'SEND',
      request_body_mode: 'FULL_DUPLEX_STREAMED',
      response_body_mode: 'FULL_DUPLEX_STREAMED',
      request_trailer_mode: 'SEND',
      response_trailer_mode: 'SEND',
    });
    expect(extProc.failure_mode_allow).toBe(false);
  });

  it('forwards and receives the envoy.lb namespace (and forwards the subset hint)', () => {
    expect(extProc.metadata_options.receiving_namespaces.untyped).toEqual([DESTINATION_NAMESPACE]);
    expect(extProc.metadata_options.forwarding_namespaces.untyped).toEqual([DESTINATION_NAMESPACE, SUBSET_NAMESPACE]);
  });

  it('routes through an ORIGINAL_DST cluster reading the routing header', () => {
    const route = hcm.route_config.virtual_hosts[0].routes[0].route;
    expect(route.cluster).toBe('original_destination_cluster');
    const dst = cluster('original_destination_cluster');
    expect(dst.type).toBe('ORIGINAL_DST');
    expect(dst.lb_policy).toBe('CLUSTER_PROVIDED');
    expect(dst.original_dst_lb_config).toEqual({ use_http_header: true, http_header_name: DESTINATION_ENDPOINT });
  });

  it('reaches Switchboard over HTTP/2 with TLS on 9002 and health-checks the ext_proc service', () => {
    const sb = cluster('switchboard');
    expect(extProc.grpc_service.envoy_grpc.cluster_name).toBe('switchboard');
    expect(sb.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config).toHaveProperty('http2_protocol_options');
    expect(sb.transport_socket.name).toBe('envoy.transport_sockets.tls');
    expect(sb.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value).toBe(9002);
    const service = sb.health_checks[0].grpc_health_check.service_name;
    expect(service).toBe(EXT_PROC_SERVICE);
    expect(READINESS_SERVICES).toContain(service);
  });

  it('documents the OverrideHost variant for fallback lists', () => {
    expect(text).toContain('envoy.load_balancing_policies.override_host');
    expect(text).toContain('override_host_sources');
  });
});
