"""Recurrent layers: the generic RNN, its cells, LSTM/GRU/SimpleRNN and Bidirectional."""

from lamina.layers.recurrent.bidirectional import Bidirectional
from lamina.layers.recurrent.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from lamina.layers.recurrent.gru import GRU, GRUCell
from lamina.layers.recurrent.lstm import LSTM, LSTMCell
from lamina.layers.recurrent.rnn import RNN
from lamina.layers.recurrent.simple_rnn import SimpleRNN, SimpleRNNCell
from lamina.layers.recurrent.stacked_rnn_cells import StackedRNNCells

__all__ = ["Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "SimpleRNN",
           "SimpleRNNCell", "StackedRNNCells"]
