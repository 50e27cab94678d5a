export { freeRegisteredPort } from '@spoke/transport-core/testing';
