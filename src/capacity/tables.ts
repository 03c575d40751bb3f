/** Usage metering: events and bytes per tenant per minute of arrival. */
export interface UsageMinutesTable {
  tenant_id: string;
  /** Start of the minute (epoch ms) in which Keel received the events. */
  minute: number;
  events: number;
  bytes: number;
}

export interface CapacityTables {
  usage_minutes: UsageMinutesTable;
}
