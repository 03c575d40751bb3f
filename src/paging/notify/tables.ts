/**
 * Notification jobs (an outbox the delivery worker drains), every delivery attempt, people's
 * contact methods and notification rules (keyed by user id, written by the User kind), sealed
 * secrets (webhook signing secrets, Slack webhook URLs, SMTP passwords), per-tenant settings,
 * and the one-click links already used.
 */
export interface NotificationJobsTable {
  /** The delivery id, sent as `X-Keel-Delivery` so receivers can drop a rare resend. */
  id: string;
  tenant_id: string;
  incident_id: string | null;
  user_id: string | null;
  /** Contact method or channel name. */
  target_name: string;
  /** email, slack, webhook. */
  channel: string;
  /** Where to deliver (address, URL, names of secrets); never a secret itself. */
  target_json: string;
  /** What to say, rendered when the job was created. */
  message_json: string;
  /** pending, sent, failed, canceled. */
  status: string;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  last_error: string | null;
  last_status: number | null;
  latency_ms: number | null;
  /** Escalation pass and step that created the job (null for other notifications). */
  pass: number | null;
  step: number | null;
  /** `page` (wakes someone) or `update` (incident.acknowledged/resolved to webhooks paged before). */
  kind?: string | undefined;
}

export interface NotificationAttemptsTable {
  job_id: string;
  attempt: number;
  at: number;
  ok: number;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
}

export interface ContactMethodsTable {
  tenant_id: string;
  user_id: string;
  name: string;
  /** email, slack, webhook. */
  type: string;
  /** JSON: {address} | {url, signingSecret?} | {webhookUrlSecret}; secrets by name only. */
  config_json: string;
}

export interface NotificationRulesTable {
  tenant_id: string;
  user_id: string;
  position: number;
  /** Wait after the user is paged before using this contact method. */
  delay_ms: number;
  contact_method: string;
}

export interface PagingSecretsTable {
  tenant_id: string;
  name: string;
  /** Sealed with the SecretBox (AES-256-GCM); never returned by the API. */
  sealed: string;
  created_at: number;
  updated_at: number;
  updated_by: string;
}

export interface PagingSettingsTable {
  /** `*` for installation-wide settings (the link-signing key). */
  tenant_id: string;
  key: string;
  /** JSON of the non-secret part. */
  value_json: string;
  /** The secret part (SMTP password, link-signing key), sealed; a registered sealed column. */
  sealed: string | null;
  updated_at: number;
}

export interface UsedLinkTokensTable {
  token_id: string;
  used_at: number;
  expires_at: number;
}

export interface NotifyTables {
  notification_jobs: NotificationJobsTable;
  notification_attempts: NotificationAttemptsTable;
  contact_methods: ContactMethodsTable;
  notification_rules: NotificationRulesTable;
  paging_secrets: PagingSecretsTable;
  paging_settings: PagingSettingsTable;
  used_link_tokens: UsedLinkTokensTable;
}
