import { tuneGarbageCollection } from './garbage-collection';
import { runProgram } from './program';

tuneGarbageCollection();
void runProgram(process.argv);
