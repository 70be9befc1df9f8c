"""Recurrent layers: the generic RNN, its cells, LSTM/GRU/SimpleRNN and Bidirectional."""

from lamina.layers.recurrent.lstm import LSTM, LSTMCell
from lamina.layers.recurrent.rnn import RNN

__all__ = ["LSTM", "LSTMCell", "RNN"]
