/** The name of the site; the room's level-one heading (the join page has its own). */
export function Brand({ heading = false }: { heading?: boolean }) {
  const content = (
    <>
      <span className="brand-dot" aria-hidden="true" />
      randomchat
    </>
  );
  return heading ? <h1 className="brand">{content}</h1> : <div className="brand">{content}</div>;
}
