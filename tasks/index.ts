// The built-in tasks, handed to the engine by the CLI (core/ never imports tasks/).
import type { Task } from '../core/task.ts';
import checkVirt from './check-virt.ts';
import installPackages from './install-packages.ts';
import manageService from './manage-service.ts';
import removePath from './remove-path.ts';
import runCommand from './run-command.ts';
import writeFile from './write-file.ts';

export const builtinTasks: readonly Task[] = [checkVirt, installPackages, manageService, removePath, runCommand, writeFile] as Task[];
