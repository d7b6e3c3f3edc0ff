// Times in the viewer's time zone; money from integer minor units + currency.

let viewerTimeZone = "UTC";
let dateTime: Intl.DateTimeFormat | null = null;

export function setViewerTimeZone(tz: string): void {
  viewerTimeZone = tz;
  dateTime = null;
}

export function viewerZone(): string {
  return viewerTimeZone;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  if (!dateTime) {
    try {
      dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: viewerTimeZone });
    } catch {
      dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
    }
  }
  return dateTime.format(new Date(iso));
}

export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export function formatMoney(money: { amountMinor: number; currency: string } | null | undefined): string {
  if (!money) return "—";
  const digits = minorDigits(money.currency);
  const value = money.amountMinor / 10 ** digits;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: money.currency }).format(value);
  } catch {
    return `${value.toFixed(digits)} ${money.currency}`;
  }
}

/** "12.50" in a currency -> 1250 minor units, or null when it is not an amount. */
export function parseMoney(text: string, currency: string): number | null {
  const clean = text.trim().replace(/[\s,]/g, "");
  if (!/^\d+(\.\d+)?$/.test(clean)) return null;
  const digits = minorDigits(currency);
  const [whole, frac = ""] = clean.split(".");
  if (frac.length > digits) return null;
  return Number(whole) * 10 ** digits + Number(frac.padEnd(digits, "0") || "0");
}

export function timeZones(): string[] {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return zones.includes("UTC") ? zones : ["UTC", ...zones];
}

export function humanize(enumValue: string): string {
  const s = enumValue.toLowerCase().replace(/_/g, " ").replace(/\b(zip|sms|crm|api|usd)\b/g, (w) => w.toUpperCase());
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export const OUTCOME_LABELS: Record<string, string> = {
  SOLD: "Sold to this campaign",
  DISABLED: "Campaign disabled",
  PAUSED: "Campaign paused",
  FIELD_FILTER: "Outside the industry filter",
  SCHEDULE: "Outside the schedule",
  CAP: "Lead cap reached",
  BALANCE: "Balance too low",
  OUTRANKED: "Other buyers ranked first",
  ACCOUNT_CLOSED: "Account closed",
  NOT_APPROVED: "Account not approved yet",
};

export function outcomeLabel(outcome: string): string {
  return OUTCOME_LABELS[outcome] ?? humanize(outcome);
}
