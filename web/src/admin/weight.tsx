// A report's weight, explained where the console shows it. The number alone
// ("weight 0.1") read as a severity or a score; it is how much the report counts
// towards the automatic cool-down (randomchat.core.moderation), and moderators'
// verdicts move it (docs/protocol.md, report weights).

export const WEIGHT_HELP =
  'How much this report counts towards an automatic cool-down: from 0.01 for a brand-new identity ' +
  'that never talked to anyone, to 1 for an established one; moderators’ verdicts on the ' +
  'reporter’s earlier reports raise or lower it';

/** In a queue row: "counts 0.1", explained on hover. */
export function RowWeight({ weight }: { weight: number }) {
  return <span title={WEIGHT_HELP}>counts {weight}</span>;
}

/** In the detail view: the bare number (tests read it as one) and the help line under it. */
export function WeightFact({ weight }: { weight: number }) {
  return (
    <dd>
      <span data-testid="detail-weight" title={WEIGHT_HELP}>
        {weight}
      </span>
      <br />
      <small className="muted" data-testid="detail-weight-help">
        {WEIGHT_HELP}
      </small>
    </dd>
  );
}
