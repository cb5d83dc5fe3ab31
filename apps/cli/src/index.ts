export { buildProgram, runProgram } from './program';
