// The only page-side file that imports Reflex's internal modules ($/utils/...), written for
// Reflex 0.10.1 like online_contact/realtime/reflex_internals.py (which checks the version at
// start-up). Porting to another Reflex version starts here and there.
export { getBackendURL, ReflexEvent } from "$/utils/state";
export { DispatchContext, EventLoopContext } from "$/utils/context";
export { default as env } from "$/env.json";
