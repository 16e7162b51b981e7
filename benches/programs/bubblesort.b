Here is a Brainf*** program that bubblesorts its input and spits it out:
>>>>>,+[>>>,+]<<<[<<<
[>>>[-<<<-<+>[>]>>]<<<[<]>>
[>>>+<<<-]<[>+>>>+<<<<-]
<<]>>>[-.[-]]>>>[>>>]<<<]
