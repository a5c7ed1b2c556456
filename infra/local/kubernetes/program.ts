/**
 * What a container of the Kubernetes simulator "runs": no process, only the lines it writes over
 * time and how it ends, computed when it starts (kubelet.ts plays it; builds.ts writes the build's).
 */

/** A container as it starts: its image, and its environment with Secret references resolved. */
export interface ContainerLaunch {
  image: string;
  env: Record<string, string>;
}

export interface Program {
  /** Each line at a time in units of the simulator's pace after the container starts. */
  output: { at: number; line: string }[];
  /** When and how it exits (a termination message as if written to terminationMessagePath); none: it never does. */
  exit?: { at: number; code: number; message?: string };
}
