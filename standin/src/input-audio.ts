/**
 * The input audio buffer and a stand-in for voice activity detection. It never decodes the
 * audio: Opus packet sizes tell speech from silence well enough to drive turn events.
 * Pure: the conversation turns what it reports into events.
 */
import type { RealtimeAudioInputTurnDetection } from "openai/resources/realtime/realtime";
import type { NewId } from "./ids.js";

/** Scripted mic-audio constants; documented in the README ("Mic audio and turns"). */
export const SCRIPT = {
  /** Every received mic RTP packet stands for this much audio (browsers send 20 ms Opus frames). */
  micPacketMs: 20,
  /**
   * A mic packet whose Opus payload has at least this many bytes counts as speech. Opus
   * encodes silence in a few bytes (the canonical silence frame is 3) and speech in
   * 60–120 bytes at browser bitrates.
   */
  voicedMinBytes: 48,
  /** Upstream refuses to commit less audio than this. */
  minCommitMs: 100,
  /** Semantic VAD has no silence setting; the stand-in ends the turn after this much silence. */
  semanticSilenceMs: 500,
} as const;

/** A turn boundary the detector found; the conversation sends the matching events. */
export type TurnEvent =
  | { kind: "speech_started"; itemId: string; audioStartMs: number }
  | { kind: "speech_stopped"; itemId: string; audioEndMs: number; speechMs: number };

interface Turn {
  /** Decided when speech starts, so `speech_started` and the committed item agree. */
  itemId: string;
  startMs: number;
  voicedEndMs: number;
  silentMs: number;
}

/** One call's input audio: the uncommitted buffer and the turn in progress. */
export class InputAudio {
  private readonly newId: NewId;
  /** Position on the mic's timeline, which `audio_start_ms`/`audio_end_ms` refer to. */
  private positionMs = 0;
  private bufferMs = 0;
  private turn: Turn | undefined;

  constructor(newId: NewId) {
    this.newId = newId;
  }

  /** Audio waiting to be committed. */
  get bufferedMs(): number {
    return this.bufferMs;
  }

  /**
   * One received mic RTP packet. With turn detection on, voiced packets open a turn and
   * `silence_duration_ms` of quiet packets close it (see SCRIPT for what counts as voiced).
   */
  packet(
    payloadBytes: number,
    detection: RealtimeAudioInputTurnDetection | null | undefined,
  ): TurnEvent | undefined {
    this.positionMs += SCRIPT.micPacketMs;
    this.bufferMs += SCRIPT.micPacketMs;
    if (!detection) return undefined;
    const voiced = payloadBytes >= SCRIPT.voicedMinBytes;
    if (!this.turn) {
      if (!voiced) {
        this.bufferMs = 0;
        return undefined;
      }
      const startMs = this.positionMs - SCRIPT.micPacketMs;
      const padding = detection.type === "server_vad" ? (detection.prefix_padding_ms ?? 300) : 0;
      this.turn = {
        itemId: this.newId("item"),
        startMs,
        voicedEndMs: this.positionMs,
        silentMs: 0,
      };
      this.bufferMs = SCRIPT.micPacketMs;
      return {
        kind: "speech_started",
        itemId: this.turn.itemId,
        audioStartMs: Math.max(0, startMs - padding),
      };
    }
    if (voiced) {
      this.turn.voicedEndMs = this.positionMs;
      this.turn.silentMs = 0;
      return undefined;
    }
    this.turn.silentMs += SCRIPT.micPacketMs;
    const silenceMs =
      detection.type === "server_vad"
        ? (detection.silence_duration_ms ?? 500)
        : SCRIPT.semanticSilenceMs;
    if (this.turn.silentMs < silenceMs) return undefined;
    const turn = this.turn;
    this.turn = undefined;
    this.bufferMs = 0;
    return {
      kind: "speech_stopped",
      itemId: turn.itemId,
      audioEndMs: turn.voicedEndMs,
      speechMs: turn.voicedEndMs - turn.startMs,
    };
  }

  /** `input_audio_buffer.append`: base64 of 16-bit PCM at 24 kHz, 48 bytes a millisecond. */
  append(base64Audio: string): void {
    this.bufferMs += Math.floor((base64Audio.length * 3) / 4 / 48);
  }

  /**
   * Empties the buffer for a commit and returns the id of the user item it becomes (the open
   * turn's, if any).
   */
  take(): string {
    const itemId = this.turn?.itemId ?? this.newId("item");
    this.clear();
    return itemId;
  }

  clear(): void {
    this.bufferMs = 0;
    this.turn = undefined;
  }
}
