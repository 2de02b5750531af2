export function Brand() {
  return (
    <div className="brand" aria-label="randomchat">
      <span className="brand-dot" aria-hidden="true" />
      randomchat
    </div>
  );
}
