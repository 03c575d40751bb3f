/** Usage metering: events and bytes per tenant per minute of arrival. */
export interface UsageMinutesTable {
  tenant_id: string;
  /** Start of the minute (epoch ms) in which Keel received the events. */
  minute: number;
  /**
   * The log partition the events came from. Each partition's worker writes its own rows, so
   * concurrent transactions of different partitions never wait on one hot counter row (measured:
   * 8 partitions on one tenant/minute row serialised to one commit at a time); reads sum them.
   */
  partition: number;
  events: number;
  bytes: number;
}

export interface CapacityTables {
  usage_minutes: UsageMinutesTable;
}
