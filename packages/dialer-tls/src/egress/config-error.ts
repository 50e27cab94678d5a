import { SpokeError } from '@spoke/transport-core';

/** One problem in a configuration file, at a field path such as `egressSelections[0].connection.transport.tcp.url`. */
export interface ConfigIssue {
  /** Field path, in the form Kubernetes prints them. Empty for problems with the whole document. */
  field: string;
  /** What is wrong there. */
  message: string;
}

/** Where the Konnectivity egress docs live, for the hint at the end of every message. */
const DOCS = 'https://kubernetes.io/docs/tasks/extend-kubernetes/setup-konnectivity/';

/**
 * An invalid `EgressSelectorConfiguration`: code `ERR_BAD_CONFIG`, a message
 * listing every problem as `field: problem`, and the same list in `issues`.
 */
export class EgressConfigError extends SpokeError {
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[]) {
    const list = issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ');
    super(
      'ERR_BAD_CONFIG',
      `Invalid EgressSelectorConfiguration in ${source}: ${list}. Fix ${issues.length === 1 ? 'it' : 'them'} (the format is described at ${DOCS}).`,
    );
    this.issues = issues;
  }
}
