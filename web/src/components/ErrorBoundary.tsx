import { Component, type ReactNode } from 'react';

/** A crash in the page shows words and a way back instead of a blank screen. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  componentDidCatch(error: unknown): void {
    console.error('DISCO page error', error);
  }

  render(): ReactNode {
    if (!this.state.failed) return this.props.children;
    return (
      <section className="card narrow" role="alert">
        <h1>Something went wrong on this page</h1>
        <p>Reload the page to continue. If you were in a talk, you can find a new partner from the lobby.</p>
        <button type="button" className="btn btn-primary" onClick={() => window.location.reload()}>
          Reload
        </button>
      </section>
    );
  }
}
