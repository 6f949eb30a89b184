/** A real HTTP server serving a model-server /metrics page, with behaviour the test controls. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** vLLM v1 page text for the given gauges. */
export function vllmPage(m: { waiting?: number; running?: number; kv?: number; running_lora?: string; waiting_lora?: string; maxLora?: number; blockSize?: number; numBlocks?: number }): string {
  const lines = [
    '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{engine="0",model_name="base"} ${m.waiting ?? 0}`,
    '# TYPE vllm:num_requests_running gauge',
    `vllm:num_requests_running{engine="0",model_name="base"} ${m.running ?? 0}`,
    '# TYPE vllm:kv_cache_usage_perc gauge',
    `vllm:kv_cache_usage_perc{engine="0",model_name="base"} ${m.kv ?? 0}`,
  ];
  if (m.maxLora !== undefined)
    lines.push(
      '# TYPE vllm:lora_requests_info gauge',
      `vllm:lora_requests_info{max_lora="${m.maxLora}",running_lora_adapters="${m.running_lora ?? ''}",waiting_lora_adapters="${m.waiting_lora ?? ''}"} ${Date.now() / 1000}`,
    );
  if (m.blockSize !== undefined) lines.push(`vllm:cache_config_info{block_size="${m.blockSize}",num_gpu_blocks="${m.numBlocks ?? 0}",engine="0"} 1.0`);
  return lines.join('\n') + '\n';
}

/** Handler for one scrape; the default serves `page`. */
export type MetricsBehaviour = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** A metrics server on 127.0.0.1 with an ephemeral port. */
export class MetricsServer {
  page = vllmPage({});
  behaviour: MetricsBehaviour | null = null;
  requests = 0;
  active = 0;
  maxActive = 0;
  private server!: Server;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests++;
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      res.on('close', () => this.active--);
      if (this.behaviour !== null) return this.behaviour(req, res, this.requests);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.page);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
