export { TasksHealthIndicator, type TasksHealthData, type TasksHealthLimits } from './tasks.health.js';
