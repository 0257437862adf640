/**
 * A microphone level meter on a WebAudio `AnalyserNode`. The `AudioContext` is created in
 * `prepare()`, which must run inside the click that starts the session: browsers keep a
 * context created without a user gesture suspended.
 */
export class MicLevelMeter {
  readonly #element: HTMLElement;
  #context: AudioContext | null = null;
  #source: MediaStreamAudioSourceNode | null = null;
  #analyser: AnalyserNode | null = null;
  #samples: Float32Array<ArrayBuffer> | null = null;
  #frame = 0;
  #level = 0;
  #announced = -1;

  constructor(element: HTMLElement) {
    this.#element = element;
  }

  prepare(): void {
    try {
      this.#context ??= new AudioContext();
      void this.#context.resume();
    } catch {
      // No WebAudio: the meter stays at zero, the session works regardless.
    }
  }

  attach(stream: MediaStream): void {
    this.detach();
    const context = this.#context;
    if (!context) return;
    this.#source = context.createMediaStreamSource(stream);
    this.#analyser = context.createAnalyser();
    this.#analyser.fftSize = 1024;
    this.#samples = new Float32Array(this.#analyser.fftSize);
    this.#source.connect(this.#analyser);
    const tick = () => {
      this.#frame = requestAnimationFrame(tick);
      this.#sample();
    };
    this.#frame = requestAnimationFrame(tick);
  }

  /** Whether the microphone sends (`data-live`): false while muted or not held. */
  renderLive(live: boolean): void {
    this.#element.dataset.live = String(live);
  }

  detach(): void {
    cancelAnimationFrame(this.#frame);
    this.#source?.disconnect();
    this.#source = null;
    this.#analyser = null;
    this.#level = 0;
    this.#show(0);
  }

  #sample(): void {
    if (!this.#analyser || !this.#samples) return;
    this.#analyser.getFloatTimeDomainData(this.#samples);
    let sum = 0;
    for (const sample of this.#samples) sum += sample * sample;
    const rms = Math.sqrt(sum / this.#samples.length);
    // -60 dBFS (room noise) .. 0 dBFS mapped to 0..1; fast attack, slow release reads calmer.
    const db = 20 * Math.log10(Math.max(rms, 1e-6));
    const target = Math.min(1, Math.max(0, (db + 60) / 60));
    this.#level = target > this.#level ? target : this.#level * 0.9 + target * 0.1;
    this.#show(this.#level);
  }

  #show(level: number): void {
    this.#element.style.setProperty("--level", level.toFixed(3));
    const percent = Math.round(level * 100);
    // Assistive tech only needs coarse steps, not 60 updates a second.
    const step = Math.round(percent / 10) * 10;
    if (step !== this.#announced) {
      this.#announced = step;
      this.#element.setAttribute("aria-valuenow", String(step));
      this.#element.dataset.level = String(step);
    }
  }
}
