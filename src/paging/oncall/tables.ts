/** Schedule overrides (someone covers a shift) and iCalendar feed tokens. */
export interface ScheduleOverridesTable {
  id: string;
  tenant_id: string;
  schedule: string;
  user_id: string;
  start_at: number;
  end_at: number;
  created_at: number;
  created_by: string;
}

export interface IcalFeedsTable {
  id: string;
  /** sha256 of the feed token; the token itself is shown once. */
  token_hash: string;
  tenant_id: string;
  /** schedule or user. */
  kind: string;
  /** Schedule name or user id. */
  target: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
}

export interface OncallTables {
  schedule_overrides: ScheduleOverridesTable;
  ical_feeds: IcalFeedsTable;
}
