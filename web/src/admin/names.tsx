// Nicknames beside ids (issue 24). A report keeps the name the reported user was
// shown under in that call; their other names are the other names of reports
// about them. Names come from strangers: React escapes them as text, and <bdi>
// keeps a right-to-left name from reordering the id beside it.

export const NO_NAME = 'no name recorded';

/** The user's names other than ``current``, in the order given (newest first). */
export function earlierNames(current: string, all: readonly string[]): string[] {
  return all.filter((name, i) => name !== current && all.indexOf(name) === i);
}

/** A name as given (or that none was recorded) and the id beside it. */
export function NameAndId({ name, id, testId }: { name: string; id?: string; testId?: string }) {
  return (
    <span className="name-id">
      {name ? (
        <bdi className="nick" data-testid={testId}>
          {name}
        </bdi>
      ) : (
        <span className="muted" data-testid={testId}>
          ({NO_NAME})
        </span>
      )}
      {id !== undefined && <span className="uid">{id}</span>}
    </span>
  );
}

/** "also: Rex, Max" for the names other than ``current``; nothing when there are none. */
export function EarlierNames({
  current,
  names,
  testId,
}: {
  current: string;
  names: readonly string[];
  testId?: string;
}) {
  const earlier = earlierNames(current, names);
  if (earlier.length === 0) return null;
  return (
    <span className="earlier" data-testid={testId}>
      {current ? 'also ' : ''}
      {earlier.map((name, i) => (
        <span key={name}>
          {i > 0 ? ', ' : ''}
          <bdi>{name}</bdi>
        </span>
      ))}
    </span>
  );
}
