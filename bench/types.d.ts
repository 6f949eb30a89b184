/** Type of the npm parser used as the parser benchmark's baseline (it ships none). */
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
