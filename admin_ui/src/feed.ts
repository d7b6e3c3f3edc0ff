// The live lead feed: one leadEvents subscription for the signed-in session,
// shared by every page (so the sound or notification plays wherever you are).
import { useEffect, useState } from "preact/hooks";
import { onSocketState, socket, type SocketState } from "./api";
import { graphql } from "./gql";
import type { LeadFeedSubscription } from "./gql/graphql";

export const LeadFeedDoc = graphql(`
  subscription LeadFeed {
    leadEvents {
      kind
      lead {
        id
        firstName
        lastName
        phone
        email
        postalCode
        city
        state
        createdAt
        product {
          name
        }
        assignee {
          name
        }
        sale {
          soldAt
          price {
            amountMinor
            currency
          }
          campaign {
            id
            name
          }
        }
      }
    }
  }
`);

export type FeedEvent = LeadFeedSubscription["leadEvents"] & { receivedAt: number };

type Settings = { sound: boolean; notify: boolean };

const SETTINGS_KEY = "leadwire.feed";
let events: FeedEvent[] = [];
let unseen = 0;
let state: SocketState = "closed";
let error: string | null = null;
let stop: (() => void) | null = null;
const listeners = new Set<() => void>();

function emit() {
  listeners.forEach((l) => l());
}

onSocketState((s) => {
  state = s;
  emit();
});

export function feedSettings(): Settings {
  try {
    return { sound: false, notify: false, ...JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? "{}") };
  } catch {
    return { sound: false, notify: false };
  }
}

export function saveFeedSettings(s: Settings): void {
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
  } catch {
    /* storage disabled: the choice lasts for this page */
  }
  emit();
}

let audio: AudioContext | null = null;

/** A short two-tone chime made on the spot (no sound file to fetch). */
export function chime(): void {
  try {
    audio ??= new AudioContext();
    const now = audio.currentTime;
    [880, 1320].forEach((freq, i) => {
      const osc = audio!.createOscillator();
      const gain = audio!.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.15);
      gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.15 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.15 + 0.3);
      osc.connect(gain).connect(audio!.destination);
      osc.start(now + i * 0.15);
      osc.stop(now + i * 0.15 + 0.32);
    });
  } catch {
    /* no audio device */
  }
}

function announce(event: FeedEvent) {
  const s = feedSettings();
  if (s.sound) chime();
  if (s.notify && "Notification" in window && Notification.permission === "granted") {
    const l = event.lead;
    const n = new Notification(event.kind === "SOLD" ? "New lead" : "Lead assigned", {
      body: `${l.firstName} ${l.lastName} · ${l.city} ${l.state} ${l.postalCode}${l.product ? " · " + l.product.name : ""}`,
      tag: l.id,
    });
    n.onclick = () => {
      window.focus();
      window.location.href = `/admin/leads/${encodeURIComponent(l.id)}`;
    };
  }
}

export function startFeed(): void {
  if (stop) return;
  error = null;
  stop = socket().subscribe<LeadFeedSubscription>(
    { query: LeadFeedDoc.toString() },
    {
      next: (result) => {
        if (result.errors?.length) {
          error = result.errors[0].message;
          emit();
          return;
        }
        if (!result.data) return;
        const event = { ...result.data.leadEvents, receivedAt: Date.now() };
        // An ASSIGNED event for a lead already shown updates it in place.
        events = [event, ...events.filter((e) => e.lead.id !== event.lead.id)].slice(0, 200);
        unseen++;
        announce(event);
        emit();
      },
      error: (e) => {
        error = e instanceof Error ? e.message : "The live feed stopped.";
        stop = null;
        emit();
      },
      complete: () => {
        stop = null;
        emit();
      },
    },
  );
}

export function stopFeed(): void {
  stop?.();
  stop = null;
  events = [];
  unseen = 0;
  emit();
}

export function markSeen(): void {
  if (unseen) {
    unseen = 0;
    emit();
  }
}

export function useFeed() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return { events, unseen, state, error, settings: feedSettings(), running: stop !== null };
}
