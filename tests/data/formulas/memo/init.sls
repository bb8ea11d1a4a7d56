include:
  - .a
  - .b
  - .c
