/** `legacy-admission-gate`: the Go EPP's default admission, shedding sheddable requests while saturated. See README.md. */
import { sbError, type SwitchboardError } from '../../../errors.js';
import type { Factory } from '../../../framework/plugin.js';
import type { EndpointPool } from '../../../pool/pool.js';
import type { SaturationDetector } from '../../../scheduling/framework/saturation-detector.js';
import { isSheddable, saturationOf } from '../../admission.js';
import type { AdmissionGate, AdmissionGatePlugin, AdmissionRequest } from '../../framework/gate.js';

export const LEGACY_ADMISSION_GATE = 'legacy-admission-gate';

/** Sheds sheddable requests (priority < 0) while the detector reports >= 1; everything else goes. */
export class LegacyAdmission implements AdmissionGate {
  constructor(
    private readonly pool: EndpointPool,
    private readonly detector: SaturationDetector,
  ) {}

  bypass(priority: number): boolean {
    return !isSheddable(priority);
  }

  admit(req: AdmissionRequest): SwitchboardError | null {
    if (!isSheddable(req.priority)) return null;
    return saturationOf(this.pool, this.detector, req) >= 1 ? sbError('SB_ERR_SHED') : null;
  }
}

export const legacyAdmissionGate: Factory<AdmissionGatePlugin> = (name) => ({
  typedName: { type: LEGACY_ADMISSION_GATE, name },
  open: (s) => new LegacyAdmission(s.pool, s.detector),
});
