/** The `/v1/models` list of a simulated pod: the base model and its LoRA adapters (vLLM's shape). */

/** `ModelList` JSON: base model first, then adapters with `parent` = base and `root` = path. */
export function modelList(
  modelName: string,
  maxModelLen: number,
  adapters: ReadonlyMap<string, string>,
  createdAt: number,
  ownedBy: 'vllm' | 'sglang' = 'vllm',
): string {
  const created = Math.floor(createdAt);
  const perm = (id: string) => ({
    id: `modelperm-${id}`,
    object: 'model_permission',
    created,
    allow_create_engine: false,
    allow_sampling: true,
    allow_logprobs: true,
    allow_search_indices: false,
    allow_view: true,
    allow_fine_tuning: false,
    organization: '*',
    group: null,
    is_blocking: false,
  });
  const card = (id: string, root: string, parent: string | null) => ({
    id,
    object: 'model',
    created,
    owned_by: ownedBy,
    root,
    parent,
    max_model_len: maxModelLen,
    permission: [perm(id)],
  });
  const data = [card(modelName, modelName, null)];
  for (const [name, path] of adapters) data.push(card(name, path, modelName));
  return JSON.stringify({ object: 'list', data });
}
