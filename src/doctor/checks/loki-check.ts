import { failed, passed, type DoctorCheck } from '../doctor-check.ts';

/** Loki (LOKI_URL): `/ready` answers 200 once it can serve queries. */
export function lokiCheck(lokiUrl: string): DoctorCheck {
  const ready = new URL('ready', lokiUrl.endsWith('/') ? lokiUrl : `${lokiUrl}/`);
  const fix = `Check that Loki runs and that LOKI_URL (${ready.origin}) is reachable from Lookout's pod (NetworkPolicy egress); until then alerts carry no log excerpt and \`/ops logs\` fails.`;
  return {
    name: 'Loki',
    async run(signal) {
      let response: Response;
      try {
        response = await fetch(ready, { signal, redirect: 'manual' });
        await response.body?.cancel();
      } catch {
        return failed('not reachable', fix);
      }
      if (response.status !== 200) return failed(`not ready (HTTP ${response.status} from /ready)`, fix);
      return passed('ready');
    },
  };
}
