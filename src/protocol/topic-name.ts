/** Kafka's topic naming rule (the broker's Topic.validate): 1-249 of [a-zA-Z0-9._-], not "." or "..". */
const LEGAL = /^[a-zA-Z0-9._-]{1,249}$/;

export function isValidTopicName(name: unknown): name is string {
  return typeof name === "string" && LEGAL.test(name) && name !== "." && name !== "..";
}

export const TOPIC_NAME_RULE = '1-249 characters of [a-zA-Z0-9._-], not "." or ".."';
