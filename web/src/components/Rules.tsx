// DISCO's rules, shown where people agree to them (registering, or an older account's next
// login), with the two confirmations the API requires (adult, accepts_terms).

export function Rules() {
  return (
    <section className="panel rules" aria-labelledby="rules-title" data-testid="rules">
      <h2 id="rules-title">The rules</h2>
      <ul className="small">
        <li>DISCO is for adults only: you must be 18 or older.</li>
        <li>Be respectful: no harassment, hate, threats or sexual content.</li>
        <li>No spam, advertising or pretending to be someone else.</li>
        <li>Anyone can report you during or after a talk; moderators read every report and may warn or ban.</li>
      </ul>
    </section>
  );
}

export function Consent(props: {
  adult: boolean;
  terms: boolean;
  onAdult: (v: boolean) => void;
  onTerms: (v: boolean) => void;
}) {
  return (
    <fieldset className="consent">
      <legend className="sr-only">Confirm</legend>
      <label className="check">
        <input type="checkbox" checked={props.adult} onChange={(e) => props.onAdult(e.target.checked)} />
        I am 18 or older
      </label>
      <label className="check">
        <input type="checkbox" checked={props.terms} onChange={(e) => props.onTerms(e.target.checked)} />
        I accept the rules
      </label>
    </fieldset>
  );
}
