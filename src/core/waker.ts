/**
 * The pause of a background loop that other code can cut short (new work arrived, or stop). A
 * wake that comes while the loop is busy is kept, so its next pause returns at once: work signalled
 * mid-iteration waits no poll interval.
 */
export class Waker {
  private pending = false;
  private cut: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(timer);
        this.cut = undefined;
        resolve();
      };
      timer = setTimeout(done, ms);
      this.cut = done;
    });
  }

  wake(): void {
    if (this.cut) this.cut();
    else this.pending = true;
  }
}
