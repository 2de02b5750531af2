// The console API's answers (src/randomchat/console/routes.py), as the page reads them.

export type Role = 'admin' | 'moderator';

export interface Me {
  name: string;
  role: Role;
  expiresAt: number | null;
  canManageAccounts: boolean;
  addressBans: boolean;
}

export interface ChatLine {
  sender: string;
  text: string;
  sentAt: number;
}

export type ReportStatus = 'open' | 'dismissed' | 'warned' | 'banned';

export interface QueuedReport {
  id: number;
  reporter: string;
  reported: string;
  /** the name the reported user was shown under in that call ('' when none was recorded) */
  reportedName: string;
  /** the reported user's names across reports about them, newest first */
  reportedNames: string[];
  reason: string;
  note: string;
  chat: ChatLine[];
  createdAt: number;
  weight: number;
  status: ReportStatus;
  reviewedBy: string | null;
  reviewedAt: number | null;
  addressKnown: boolean;
  /** the reporter attached a still of the video (issue 24); absent in user histories */
  picture?: boolean;
}

export interface BanRow {
  userId: string;
  reason: string;
  createdAt: number;
  until: number;
  createdBy: string;
  automatic: boolean;
  endedAt: number | null;
  address: boolean;
}

export interface AuditEntry {
  id: number;
  at: number;
  time: string;
  actor: string;
  action: string;
  target: string;
  reason: string;
  detail: Record<string, unknown>;
}

export interface History {
  userId: string;
  /** the names reports recorded for the user, newest first */
  names: string[];
  reportedCount: number;
  filedCount: number;
  reports: QueuedReport[];
  bans: BanRow[];
  banned: boolean;
  warnings: AuditEntry[];
}

export interface NowFigures {
  online: number;
  waiting: number;
  inCalls: number;
  pairs: number;
  callsPerMinute: number | null;
  reportsPerHour: number;
  relayShare: number | null;
  relayedCalls: number;
  failedCalls: number;
  failedShare: number | null;
  at: number;
}

export interface Account {
  name: string;
  role: Role;
  createdAt: number;
  updatedAt: number;
}

export const REASONS = ['nudity', 'harassment', 'spam', 'underage', 'other'] as const;
export const STATUSES = ['open', 'dismissed', 'warned', 'banned', 'all'] as const;
export type StatusFilter = (typeof STATUSES)[number];
